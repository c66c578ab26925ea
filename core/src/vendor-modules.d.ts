// Type declarations for the pure-JavaScript decoders that ship none (see codecs.ts).
declare module 'snappyjs' {
  const snappy: {
    uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
    compress(uncompressed: Uint8Array): Uint8Array;
  };
  export default snappy;
}

declare module 'lz4js' {
  const lz4: {
    decompress(src: Uint8Array, maxSize?: number): Uint8Array;
    compress(src: Uint8Array, maxSize?: number): Uint8Array;
  };
  export default lz4;
}
