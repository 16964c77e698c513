/**
 * Element Plus types a table slot's `row` as `Record<PropertyKey, any>`, not the table's item type; templates
 * read rows through `const asRow = rowAs<Item>()` to get the item type back.
 */
export function rowAs<T>(): (row: unknown) => T {
  return (row) => row as T;
}
