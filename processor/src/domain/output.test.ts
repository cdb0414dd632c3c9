import { contentTypeOf, outputKeyFor, outputUrlFor } from './output';

const position = { requestId: 'r-1', productIndex: 0, imageIndex: 2 };

describe('output naming', () => {
  it('uses 1-based positions and the stored format in the key', () => {
    expect(outputKeyFor(position, 'jpeg')).toBe('outputs/r-1/1-3.jpg');
    expect(outputKeyFor({ ...position, productIndex: 9 }, 'webp')).toBe('outputs/r-1/10-3.webp');
    expect(outputKeyFor(position, 'avif')).toBe('outputs/r-1/1-3.avif');
  });

  it('points at the public edge unless a CDN base is configured', () => {
    const key = outputKeyFor(position, 'png');
    expect(outputUrlFor(position, key, { publicBaseUrl: 'http://127.0.0.1:8080/' })).toBe(
      'http://127.0.0.1:8080/images/r-1/1/3',
    );
    expect(
      outputUrlFor(position, key, {
        publicBaseUrl: 'http://127.0.0.1:8080',
        outputPublicBaseUrl: 'https://cdn.example.com/imgpipe/',
      }),
    ).toBe('https://cdn.example.com/imgpipe/outputs/r-1/1-3.png');
  });

  it('names the content type of each format', () => {
    expect(contentTypeOf('jpeg')).toBe('image/jpeg');
    expect(contentTypeOf('avif')).toBe('image/avif');
    expect(contentTypeOf('gif')).toBe('image/gif');
  });
});
