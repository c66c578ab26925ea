/**
 * Decompression for every codec Kafka has, for kafkajs, which ships gzip only: a batch from another
 * producer (Java clients, librdkafka, Kafka Connect default to or often use snappy, lz4 or zstd)
 * would otherwise crash the consumer with "Snappy compression not implemented". Pure-JavaScript
 * decoders, so nothing needs a native build. We produce with gzip or none only; compressing with
 * these is supported where the library can (snappy, lz4), not relied on.
 */
/// <reference path="./vendor-modules.d.ts" />
import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import snappy from 'snappyjs';
import { LambdamartError } from './errors.ts';

// kafkajs is CommonJS and defines CompressionCodecs in a way Node's named-export detection misses.
const { CompressionCodecs, CompressionTypes } = kafkajs;

interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** The header of the xerial snappy-java stream framing that Kafka's Java clients write. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16; // magic (8), version (4), compatible version (4)

/**
 * Snappy as Kafka carries it: librdkafka writes one raw snappy block; Java clients write the xerial
 * framing (a header, then blocks each prefixed by its big-endian length).
 */
export function snappyDecompress(buffer: Buffer): Buffer {
  if (buffer.length >= XERIAL_HEADER_BYTES && buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    const blocks: Buffer[] = [];
    let at = XERIAL_HEADER_BYTES;
    while (at < buffer.length) {
      if (at + 4 > buffer.length)
        throw new LambdamartError(
          'LM_ERR_KAFKA_BATCH_CORRUPT',
          `snappy (xerial): a block length is cut off at byte ${at} of ${buffer.length}`,
        );
      const length = buffer.readUInt32BE(at);
      at += 4;
      if (at + length > buffer.length)
        throw new LambdamartError(
          'LM_ERR_KAFKA_BATCH_CORRUPT',
          `snappy (xerial): a block of ${length} bytes runs past the end at byte ${at}`,
        );
      blocks.push(Buffer.from(snappy.uncompress(buffer.subarray(at, at + length))));
      at += length;
    }
    return Buffer.concat(blocks);
  }
  return Buffer.from(snappy.uncompress(buffer));
}

/** The LZ4 frame format, which Kafka clients write (one frame per batch). */
export function lz4Decompress(buffer: Buffer): Buffer {
  return Buffer.from(lz4.decompress(buffer));
}

export function zstdDecompressBuffer(buffer: Buffer): Buffer {
  const out = zstdDecompress(buffer);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

const snappyCodec: KafkaCodec = {
  compress: async (encoder) => Buffer.from(snappy.compress(encoder.buffer)),
  decompress: async (buffer) => snappyDecompress(buffer),
};

const lz4Codec: KafkaCodec = {
  compress: async (encoder) => Buffer.from(lz4.compress(encoder.buffer)),
  decompress: async (buffer) => lz4Decompress(buffer),
};

const zstdCodec: KafkaCodec = {
  compress: async () => {
    throw new LambdamartError(
      'LM_ERR_KAFKA_CODEC_UNSUPPORTED',
      'zstd compression is not supported for producing (only decompression); produce with gzip or none',
    );
  },
  decompress: async (buffer) => zstdDecompressBuffer(buffer),
};

/**
 * Registers snappy, lz4 and zstd with kafkajs (gzip is built in). Idempotent; called by
 * createKafka, so every client of ours reads every codec, and nothing happens on import.
 */
export function registerKafkaCodecs(): void {
  const codecs = CompressionCodecs as Record<number, () => KafkaCodec>;
  codecs[CompressionTypes.Snappy] = () => snappyCodec;
  codecs[CompressionTypes.LZ4] = () => lz4Codec;
  codecs[CompressionTypes.ZSTD] = () => zstdCodec;
}
