/** Audio and video containers we accept for tour recordings, judged by their first bytes. */
export interface MediaType {
  contentType: string;
  extension: string;
}

export function detectMediaType(buf: Buffer): MediaType | null {
  const ascii = (from: number, to: number) => (buf.length >= to ? buf.toString('latin1', from, to) : '');
  if (ascii(0, 3) === 'ID3' || (buf.length > 2 && buf[0] === 0xff && (buf[1]! & 0xe0) === 0xe0 && (buf[1]! & 0x06) !== 0)) {
    return { contentType: 'audio/mpeg', extension: 'mp3' };
  }
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return { contentType: 'audio/wav', extension: 'wav' };
  if (ascii(0, 4) === 'OggS') return { contentType: 'audio/ogg', extension: 'ogg' };
  if (ascii(0, 4) === 'fLaC') return { contentType: 'audio/flac', extension: 'flac' };
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x1a45dfa3) return { contentType: 'video/webm', extension: 'webm' };
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand.startsWith('M4A')) return { contentType: 'audio/mp4', extension: 'm4a' };
    if (brand === 'qt  ') return { contentType: 'video/quicktime', extension: 'mov' };
    // Image brands (HEIF/AVIF) share the container; they are not recordings.
    if (['heic', 'heix', 'mif1', 'msf1', 'avif', 'avis'].includes(brand)) return null;
    return { contentType: 'video/mp4', extension: 'mp4' };
  }
  return null;
}
