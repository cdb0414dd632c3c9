/**
 * The output CSV users download (issue 6, "Output CSV"): one row per product in input order,
 * serial numbers, names and input URLs exactly as given, output URLs in the same positions as
 * their inputs (comma-separated in one cell; a failed image leaves its position empty).
 *
 * Spreadsheet safety (OWASP ASVS 5.0 1.2.10, CWE-1236; notes/reliability.md §5.3): a cell
 * whose first character is `=`, `+`, `-`, `@`, tab, CR or NUL is prefixed with `'`, so a
 * spreadsheet shows it as text instead of evaluating it (applied to every cell, so a serial
 * number written `-5` comes out as `'-5`). RFC 4180 quoting alone does not stop
 * evaluation. Records end in CRLF (RFC 4180 §2.1) and the file starts with a UTF-8 BOM so
 * spreadsheet programs read non-ASCII product names as UTF-8.
 */
import { stringify } from 'csv-stringify/sync';
import type { ImageRecord } from './model';

export const OUTPUT_CSV_HEADER = [
  'S. No.',
  'Product Name',
  'Input Image Urls',
  'Output Image Urls',
] as const;

// Also the full-width `＝ ＋ －`, which Apple Numbers normalises to their ASCII forms (the same
// list csv-stringify's escape_formulas uses, plus NUL, which it lacks).
const FORMULA_TRIGGER = /^[=+\-@\t\r\0\uFF1D\uFF0B\uFF0D]/;

/** Makes a cell inert in spreadsheets (see the module comment). */
export const neutraliseCell = (value: string): string =>
  FORMULA_TRIGGER.test(value) ? `'${value}` : value;

export interface OutputRow {
  serialNumber: string;
  productName: string;
  inputUrls: string[];
  /** Same length as inputUrls; '' where the image failed (or never finished). */
  outputUrls: string[];
}

/**
 * Groups image rows into product rows. Rows of a product carry its serial number and name.
 * Positions with no row (only possible when a request was closed by a timeout) stay empty in
 * both URL cells, so every URL stays in its input position.
 */
export function outputRows(images: readonly ImageRecord[]): OutputRow[] {
  const byProduct = new Map<number, ImageRecord[]>();
  for (const image of images) {
    const list = byProduct.get(image.productIndex);
    if (list) list.push(image);
    else byProduct.set(image.productIndex, [image]);
  }
  return [...byProduct.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, list]) => {
      const first = list[0]!;
      const width = Math.max(...list.map((i) => i.imageIndex)) + 1;
      const inputUrls = new Array<string>(width).fill('');
      const outputUrls = new Array<string>(width).fill('');
      for (const image of list) {
        inputUrls[image.imageIndex] = image.inputUrl;
        outputUrls[image.imageIndex] = image.status === 'COMPRESSED' ? (image.outputUrl ?? '') : '';
      }
      return {
        serialNumber: first.serialNumber,
        productName: first.productName,
        inputUrls,
        outputUrls,
      };
    });
}

/** Serialises product rows (header, neutralised cells, RFC 4180 quoting, CRLF, BOM). */
export function renderOutputCsv(rows: readonly OutputRow[]): Buffer {
  const records = rows.map((row) =>
    [row.serialNumber, row.productName, row.inputUrls.join(','), row.outputUrls.join(',')].map(
      neutraliseCell,
    ),
  );
  const text = stringify(records, {
    header: true,
    columns: [...OUTPUT_CSV_HEADER],
    record_delimiter: 'windows',
    // Quote a lone CR or LF too (the default turns this off once record_delimiter is set), so
    // a name holding a line break reads back as one record.
    quote_record_delimiter: true,
    bom: true,
  });
  return Buffer.from(text, 'utf8');
}

export const buildOutputCsv = (images: readonly ImageRecord[]): Buffer =>
  renderOutputCsv(outputRows(images));
