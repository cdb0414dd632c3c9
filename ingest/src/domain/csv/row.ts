import type { CsvProblem } from '../errors';
import { excerpt } from '../errors';
import type { UploadLimits } from '../limits';
import type { HeaderLayout } from './header';

/** One valid data row: what ImageRequested events are made of. */
export interface ProductRow {
  /** 0-based position among the data rows, in input order. */
  productIndex: number;
  /** Physical line where the row starts (for logs and error reports). */
  line: number;
  /** As given, without surrounding spaces. */
  serialNumber: string;
  productName: string;
  /** As given, without surrounding spaces; duplicates kept (each position is processed). */
  urls: string[];
}

/** Why a URL is not accepted, or undefined when it is. Syntax only: the processor checks the network side. */
export function urlProblem(url: string, maxLength: number): string | undefined {
  if (url.length > maxLength) return `URL is longer than ${maxLength} characters`;
  // WHATWG URL parsing would quietly percent-encode these; a person most likely pasted two
  // URLs without a comma or a stray line break.
  if (/[\s\p{Cc}]/u.test(url)) return 'URL contains a space or control character';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid absolute URL (expected http:// or https://…)';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `URL scheme "${parsed.protocol.slice(0, -1)}" is not allowed (only http and https)`;
  }
  if (parsed.hostname === '') return 'URL has no host';
  return undefined;
}

const SERIAL = /^\d+$/;

export type RowResult =
  | { ok: true; serialKey: string; row: Omit<ProductRow, 'productIndex'> }
  | { ok: false; problems: CsvProblem[] };

/**
 * Checks one data row against the rules of issue #4. The image URLs cell holds one or more
 * comma-separated URLs; fields beyond the header's width are accepted only when each is a
 * URL (public sample CSVs put extra URLs unquoted after the third column) and are appended
 * to the URL list in order.
 */
export function checkRow(
  fields: readonly string[],
  line: number,
  layout: HeaderLayout,
  limits: UploadLimits,
): RowResult {
  const problems: CsvProblem[] = [];
  const at = (column: number, value: string, problem: string): void => {
    problems.push({ line, column: column + 1, value: excerpt(value), problem });
  };

  if (fields.length < layout.width) {
    problems.push({
      line,
      column: null,
      value: excerpt(fields.join(',')),
      problem: `expected ${layout.width} fields (S. No., Product Name, Input Image Urls), found ${fields.length}`,
    });
    return { ok: false, problems };
  }

  const serialRaw = fields[layout.serial]!;
  const serialNumber = serialRaw.trim();
  let serialKey = '';
  if (serialNumber === '') at(layout.serial, serialRaw, 'serial number is empty');
  else if (!SERIAL.test(serialNumber) || /^0+$/.test(serialNumber)) {
    at(layout.serial, serialRaw, 'serial number must be a positive whole number');
  } else {
    // "007" and "7" are the same serial number for uniqueness.
    serialKey = serialNumber.replace(/^0+/, '');
    if (serialKey.length > 15) at(layout.serial, serialRaw, 'serial number is too large');
  }

  const nameRaw = fields[layout.name]!;
  const productName = nameRaw.trim();
  if (productName === '') at(layout.name, nameRaw, 'product name is empty');
  else if ([...productName].length > limits.maxProductNameLength) {
    at(
      layout.name,
      nameRaw,
      `product name is longer than ${limits.maxProductNameLength} characters`,
    );
  }

  // The URL cell, then any extra fields (the unquoted multi-URL form); empty pieces from
  // doubled or trailing commas are skipped.
  const urls: string[] = [];
  let pieces = 0;
  const takeUrls = (column: number, cell: string, extra: boolean): void => {
    for (const piece of cell.split(',')) {
      const url = piece.trim();
      if (url === '') continue;
      pieces += 1;
      const problem = urlProblem(url, limits.maxUrlLength);
      if (problem === undefined) urls.push(url);
      else if (extra) {
        at(
          column,
          url,
          `${problem}; fields after "Input Image Urls" must be image URLs (quote a product name that contains a comma)`,
        );
      } else at(column, url, problem);
    }
  };
  takeUrls(layout.urls, fields[layout.urls]!, false);
  const urlsLast = layout.urls === layout.width - 1;
  for (let i = layout.width; i < fields.length; i += 1) {
    const cell = fields[i]!;
    if (urlsLast) takeUrls(i, cell, true);
    else if (cell.trim() !== '') {
      // Extra URLs are only unambiguous when the URL column is the last one.
      at(
        i,
        cell,
        `unexpected extra field: expected ${layout.width} fields, found ${fields.length}`,
      );
    }
  }
  if (pieces === 0) {
    at(layout.urls, fields[layout.urls]!, 'no image URL; give at least one http(s) URL');
  } else if (pieces > limits.maxUrlsPerRow) {
    at(
      layout.urls,
      excerpt(fields[layout.urls]!),
      `${pieces} image URLs; at most ${limits.maxUrlsPerRow} per row`,
    );
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, serialKey, row: { line, serialNumber, productName, urls } };
}
