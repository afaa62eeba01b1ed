export interface ResourceNames {
  /** kebab-case singular, for file names: `invoice-line`. */
  file: string;
  /** kebab-case plural, for the folder: `invoice-lines`. */
  plural: string;
  /** `InvoiceLine`: the entity. */
  className: string;
  /** `InvoiceLines`: the controller, module and migration. */
  pluralClass: string;
  /** `invoiceLine`: GraphQL's query for one (and the mutations' suffix). */
  property: string;
  /** `invoiceLines`: GraphQL's list query. */
  pluralProperty: string;
  /** `invoice_lines`: the table, a plain SQL name. */
  table: string;
  /** `invoice-lines`: the route. */
  route: string;
}

/**
 * `invoice-line` (or `InvoiceLine`, `invoice_line`) -> the names above. The name ends up in SQL and
 * in code, so it is checked against a strict pattern, not escaped.
 */
export function resourceNames(raw: string): ResourceNames {
  const file = raw.trim().replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[\s_]+/g, '-').toLowerCase();
  if (file.length > 40 || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(file)) throw new Error(`"${raw}" is not a usable resource name: use letters, digits and dashes, starting with a letter.`);
  const plural = file.endsWith('y') && !/[aeiou]y$/.test(file) ? `${file.slice(0, -1)}ies` : /(s|x|z|ch|sh)$/.test(file) ? `${file}es` : `${file}s`;
  const pascal = (kebab: string) => kebab.split('-').map((part) => part[0].toUpperCase() + part.slice(1)).join('');
  const camel = (kebab: string) => pascal(kebab)[0].toLowerCase() + pascal(kebab).slice(1);
  return { file, plural, className: pascal(file), pluralClass: pascal(plural), property: camel(file), pluralProperty: camel(plural), table: plural.replace(/-/g, '_'), route: plural };
}
