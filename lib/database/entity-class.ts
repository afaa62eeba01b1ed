/** A TypeORM entity class. */
export type EntityClass = abstract new (...args: never[]) => object;
