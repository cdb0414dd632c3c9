import type { CsvProblem } from '../errors';
import { excerpt } from '../errors';

/** The header users are told to write when theirs is wrong. */
export const EXPECTED_HEADER = 'S. No.,Product Name,Input Image Urls';

export type ColumnRole = 'serial' | 'name' | 'urls';

/** Column names as people write them: compared lower-cased, without spaces, dots or underscores. */
const ALIASES: Readonly<Record<string, ColumnRole>> = {
  sno: 'serial',
  srno: 'serial',
  serialno: 'serial',
  serialnumber: 'serial',
  productname: 'name',
  inputimageurls: 'urls',
  imageurls: 'urls',
};

const ROLE_LABEL: Readonly<Record<ColumnRole, string>> = {
  serial: 'S. No.',
  name: 'Product Name',
  urls: 'Input Image Urls',
};

export const normaliseHeaderCell = (cell: string): string =>
  cell.toLowerCase().replace(/[\s._]+/g, '');

/** Where each column sits in the file (0-based field positions). */
export interface HeaderLayout {
  serial: number;
  name: number;
  urls: number;
  /** Number of named columns; rows may have more fields only as extra URLs (see row rules). */
  width: number;
}

export type HeaderResult =
  | { ok: true; layout: HeaderLayout }
  | { ok: false; problems: CsvProblem[]; looksLikeData: boolean };

const looksLikeUrl = (s: string): boolean => /^\s*https?:\/\//i.test(s);

/**
 * Matches the header row. The three columns may come in any order; trailing empty header
 * cells (spreadsheet exports often add some) are ignored. Anything else unknown, missing or
 * repeated is a problem that names the expected header.
 */
export function matchHeader(fields: readonly string[], line: number): HeaderResult {
  // Spreadsheets pad the header with empty cells: ignore those at the end only.
  let width = fields.length;
  while (width > 0 && fields[width - 1]!.trim() === '') width -= 1;

  const found: Partial<Record<ColumnRole, number>> = {};
  const problems: CsvProblem[] = [];
  for (let i = 0; i < width; i += 1) {
    const cell = fields[i]!;
    const role = ALIASES[normaliseHeaderCell(cell)];
    if (role === undefined) {
      problems.push({
        line,
        column: i + 1,
        value: excerpt(cell),
        problem:
          cell.trim() === ''
            ? `empty column name; the header must be: ${EXPECTED_HEADER}`
            : `unknown column "${excerpt(cell, 60)}"; the header must be: ${EXPECTED_HEADER}`,
      });
    } else if (found[role] !== undefined) {
      problems.push({
        line,
        column: i + 1,
        value: excerpt(cell),
        problem: `column "${ROLE_LABEL[role]}" appears twice (also column ${found[role] + 1}); the header must be: ${EXPECTED_HEADER}`,
      });
    } else {
      found[role] = i;
    }
  }
  for (const role of ['serial', 'name', 'urls'] as const) {
    if (found[role] === undefined) {
      problems.push({
        line,
        column: null,
        value: null,
        problem: `missing column "${ROLE_LABEL[role]}"; the header must be: ${EXPECTED_HEADER}`,
      });
    }
  }
  const { serial, name, urls } = found;
  if (problems.length === 0 && serial !== undefined && name !== undefined && urls !== undefined) {
    return { ok: true, layout: { serial, name, urls, width } };
  }
  // A first row like `1,Shirt,https://…` means the header was left out: say so plainly.
  if (fields.some(looksLikeUrl) && /^\s*\d+\s*$/.test(fields[0] ?? '')) {
    return {
      ok: false,
      looksLikeData: true,
      problems: [
        {
          line,
          column: null,
          value: excerpt(fields.join(',')),
          problem: `the first row is data, not a header; add this header row first: ${EXPECTED_HEADER}`,
        },
      ],
    };
  }
  return { ok: false, problems, looksLikeData: false };
}
