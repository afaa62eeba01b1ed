/** `invoice-line` -> { className: 'InvoiceLine', file: 'invoice-line', plural: 'invoice-lines', table: 'invoice_lines', route: 'invoice-lines' } */
export function resourceNames(raw: string) {
  const file = raw.trim().replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[\s_]+/g, '-').toLowerCase();
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(file)) throw new Error(`"${raw}" is not a usable resource name: use letters, digits and dashes, starting with a letter.`);
  const plural = file.endsWith('y') && !/[aeiou]y$/.test(file) ? `${file.slice(0, -1)}ies` : /(s|x|z|ch|sh)$/.test(file) ? `${file}es` : `${file}s`;
  const className = file.split('-').map((part) => part[0].toUpperCase() + part.slice(1)).join('');
  const pluralClass = plural.split('-').map((part) => part[0].toUpperCase() + part.slice(1)).join('');
  return { file, plural, className, pluralClass, table: plural.replace(/-/g, '_'), route: plural };
}
