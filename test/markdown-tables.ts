// Reads the tables of a Markdown document by their structure (GitHub Flavored Markdown, "Tables
// (extension)": a header row, a delimiter row of `---` cells, body rows until a blank line), not by
// their layout. `biome format` pads cells to align the columns and writes the delimiter row as
// `| --- |`; a table reads the same either way. Tests that check a document against the code
// (README's anomaly catalogue, the lists of accepted differences) read it through here.

export interface MarkdownTable {
  /** Text of the nearest heading above the table ("" before the first heading). */
  section: string;
  header: string[];
  /** Body rows keyed by the header's cells. */
  rows: Record<string, string>[];
  /** 1-based line number of the header row, for error messages. */
  line: number;
}

/** Cells of one table line: outer pipes optional, cells trimmed, `\|` is a pipe inside a cell. */
export function tableCells(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.replace(/\\\|/g, "|").trim());
}

const isDelimiterRow = (cells: string[]) => cells.length > 0 && cells.every((c) => /^:?-+:?$/.test(c));

/**
 * Every table of a Markdown text, outside fenced code blocks. A body row whose cell count differs
 * from the header's is an error naming its line: a list the tests read must not lose a row silently.
 */
export function markdownTables(text: string, source = "markdown"): MarkdownTable[] {
  const lines = text.split(/\r?\n/);
  const tables: MarkdownTable[] = [];
  let section = "";
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fenceMark = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (fenceMark !== undefined && fenceMark[0] === fence[0] && fenceMark.length >= fence.length) fence = undefined;
      continue;
    }
    if (fenceMark !== undefined) {
      fence = fenceMark;
      continue;
    }
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$/.exec(line);
    if (heading) {
      section = heading[1];
      continue;
    }
    if (!line.includes("|") || i + 1 >= lines.length) continue;
    const header = tableCells(line);
    const delimiter = tableCells(lines[i + 1]);
    if (!isDelimiterRow(delimiter) || delimiter.length !== header.length) continue;
    const table: MarkdownTable = { section, header, rows: [], line: i + 1 };
    for (i += 2; i < lines.length && lines[i].trim() !== "" && lines[i].includes("|"); i++) {
      const cells = tableCells(lines[i]);
      if (cells.length !== header.length) {
        throw new Error(`${source} line ${i + 1}: ${cells.length} cells, the table's header has ${header.length}`);
      }
      table.rows.push(Object.fromEntries(header.map((h, k) => [h, cells[k]])));
    }
    i--;
    tables.push(table);
  }
  return tables;
}

/**
 * Rows of the one table whose header is exactly `header` (optionally under the heading `section`);
 * none or several such tables is an error.
 */
export function tableRows(text: string, header: string[], source = "markdown", section?: string) {
  const found = markdownTables(text, source).filter(
    (t) => t.header.join("|") === header.join("|") && (section === undefined || t.section === section),
  );
  const which = `a table | ${header.join(" | ")} |${section === undefined ? "" : ` under "${section}"`}`;
  if (found.length !== 1) throw new Error(`${source}: expected one ${which}, found ${found.length}`);
  return found[0].rows;
}
