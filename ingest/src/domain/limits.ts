/** Upload limits (issue #4, "CSV rules"); all configurable through ingest's config. */
export interface UploadLimits {
  /** Largest accepted file, bytes (413 above). */
  maxFileBytes: number;
  /** Most data rows (blank lines not counted; 422 above). */
  maxRows: number;
  /** Most images in one file, all rows together (422 above). */
  maxImages: number;
  /** Most image URLs in one row. */
  maxUrlsPerRow: number;
  /** Longest image URL, characters. */
  maxUrlLength: number;
  /** Longest product name, characters. */
  maxProductNameLength: number;
}

export const DEFAULT_LIMITS: Readonly<UploadLimits> = Object.freeze({
  maxFileBytes: 20 * 1024 * 1024,
  maxRows: 10_000,
  maxImages: 100_000,
  maxUrlsPerRow: 50,
  maxUrlLength: 2_048,
  maxProductNameLength: 256,
});
