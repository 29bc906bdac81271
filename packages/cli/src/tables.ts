import Table from 'cli-table3';

/** Borders without a rule between rows, no colours: the one table style of every command. */
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** A cli-table3 table in the CLI's style; `right` lists the columns (by index) aligned right, numbers. */
export function cliTable(head: readonly string[], right: readonly number[] = []): Table.Table {
  return new Table({ style: { head: [], border: [] }, chars: COMPACT, head: [...head], colAligns: head.map((_, i) => (right.includes(i) ? 'right' : 'left')) });
}

/** A count with thousands separators, as the tables print them. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
