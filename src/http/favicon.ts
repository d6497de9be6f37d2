// `GET /favicon.ico`: every browser asks for it on every page, and a 404 fills the console (and
// a proxy's error log) with noise. A 16×16 icon built here — no asset file to ship or lose —
// in the classic ICO format (a BMP inside), which every browser and bookmark tool reads; it
// never changes within a version, so clients may keep it a day.
//
// The picture: a green disc (a device that is up) on transparent ground.

const SIZE = 16;
const GREEN = [0x25, 0xd3, 0x66] as const; // R, G, B

/** The icon file's bytes: ICONDIR, one ICONDIRENTRY, BITMAPINFOHEADER, BGRA pixels, AND mask. */
function buildIcon(): Buffer {
  const pixels = SIZE * SIZE * 4;
  const maskRow = 4; // 16 bits of mask padded to a 32-bit boundary
  const mask = SIZE * maskRow;
  const image = 40 + pixels + mask;
  const out = Buffer.alloc(6 + 16 + image);
  // ICONDIR: reserved, type 1 = icon, one image.
  out.writeUInt16LE(0, 0);
  out.writeUInt16LE(1, 2);
  out.writeUInt16LE(1, 4);
  // ICONDIRENTRY: width, height, no palette, reserved, planes, bits per pixel, size, offset.
  out.writeUInt8(SIZE, 6);
  out.writeUInt8(SIZE, 7);
  out.writeUInt16LE(1, 10);
  out.writeUInt16LE(32, 12);
  out.writeUInt32LE(image, 14);
  out.writeUInt32LE(22, 18);
  // BITMAPINFOHEADER; an icon's height counts the XOR image and the AND mask, hence twice.
  const h = 22;
  out.writeUInt32LE(40, h);
  out.writeInt32LE(SIZE, h + 4);
  out.writeInt32LE(SIZE * 2, h + 8);
  out.writeUInt16LE(1, h + 12);
  out.writeUInt16LE(32, h + 14);
  out.writeUInt32LE(pixels + mask, h + 20);
  // Pixels bottom-up, BGRA; the alpha channel does the transparency, so the mask stays zero.
  const centre = (SIZE - 1) / 2;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const at = h + 40 + (y * SIZE + x) * 4;
      const distance = Math.hypot(x - centre, y - centre);
      // 1 inside the radius, fading over one pixel at the edge.
      const alpha = Math.max(0, Math.min(1, 7 - distance));
      out.writeUInt8(GREEN[2], at);
      out.writeUInt8(GREEN[1], at + 1);
      out.writeUInt8(GREEN[0], at + 2);
      out.writeUInt8(Math.round(alpha * 255), at + 3);
    }
  }
  return out;
}

export const FAVICON: Buffer = buildIcon();
export const FAVICON_TYPE = 'image/x-icon';
/** A day: the icon only changes with a new version. */
export const FAVICON_CACHE = 'public, max-age=86400';
