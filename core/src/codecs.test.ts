import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import snappy from 'snappyjs';
import { lz4Decompress, registerKafkaCodecs, snappyDecompress, zstdDecompressBuffer } from './codecs.ts';

const { CompressionCodecs, CompressionTypes } = kafkajs;

// Written by the reference command-line tools (`zstd -c`, `lz4 -c`), not by the libraries under test.
const ZSTD_FIXTURE = 'KLUv/QRY/QAAwGxhbWJkYW1hcnQgenN0ZCBmaXh0dXJlIAEAsNEcA0TIY6s=';
const LZ4_FIXTURE = 'BCJNGGRApyIAAAD/CGxhbWJkYW1hcnQgbHo0IGZpeHR1cmUgFwAVUHh0dXJlAAAAAM/79O0=';

describe('Kafka codecs', () => {
  it('zstd and lz4 frames written by the reference tools decompress', () => {
    assert.equal(zstdDecompressBuffer(Buffer.from(ZSTD_FIXTURE, 'base64')).toString(), 'lambdamart zstd fixture '.repeat(3).trim());
    assert.equal(lz4Decompress(Buffer.from(LZ4_FIXTURE, 'base64')).toString(), 'lambdamart lz4 fixture '.repeat(3).trim());
  });

  it('snappy: a raw block (librdkafka) and the xerial framing (Java clients) both decompress', () => {
    const text = Buffer.from('{"event_id":"a"}'.repeat(200));
    assert.deepEqual(snappyDecompress(Buffer.from(snappy.compress(text))), text);
    const half = text.length / 2;
    const blocks = [text.subarray(0, half), text.subarray(half)].map((b) => Buffer.from(snappy.compress(b)));
    const header = Buffer.alloc(16);
    Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]).copy(header);
    header.writeUInt32BE(1, 8);
    header.writeUInt32BE(1, 12);
    const lengthOf = (block: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(block.length);
      return length;
    };
    const framed = Buffer.concat([header, ...blocks.flatMap((block) => [lengthOf(block), block])]);
    assert.deepEqual(snappyDecompress(framed), text);
    assert.throws(
      () => snappyDecompress(framed.subarray(0, framed.length - 3)),
      /snappy \(xerial\): a block of \d+ bytes runs past the end/,
    );
  });

  it('registerKafkaCodecs makes kafkajs find snappy, lz4 and zstd', async () => {
    registerKafkaCodecs();
    const codecs = CompressionCodecs as Record<number, () => { decompress(b: Buffer): Promise<Buffer> }>;
    const zstd = codecs[CompressionTypes.ZSTD]?.();
    assert.equal((await zstd?.decompress(Buffer.from(ZSTD_FIXTURE, 'base64')))?.toString(), 'lambdamart zstd fixture '.repeat(3).trim());
    const lz4 = codecs[CompressionTypes.LZ4]?.();
    assert.match((await lz4?.decompress(Buffer.from(LZ4_FIXTURE, 'base64')))?.toString() ?? '', /^lambdamart lz4/);
    assert.ok(codecs[CompressionTypes.Snappy]?.());
  });
});
