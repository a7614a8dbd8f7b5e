// Package rastertest makes hostile images for tests: small files that
// unpack into a lot of memory.
package rastertest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
)

// Bomb is a valid 16-bit RGBA PNG of w×h transparent pixels: decoding it
// takes 8·w·h bytes, and the file about a thousandth of that (7000×7000
// is 381 KB for 392 MB). It is built without holding the pixels: runs of
// zeros compress to the same deflate blocks, which are repeated.
func Bomb(w, h int) []byte {
	raw := int64(h) * int64(1+8*w) // each row: filter type 0, then zeros
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16 bits per channel, RGBA
	var idat bytes.Buffer
	idat.Write([]byte{0x78, 0xDA}) // zlib, best compression
	idat.Write(zeros(raw))
	idat.Write([]byte{0x03, 0x00}) // the final, empty, block
	// Adler-32 of zeros: the sum stays 1, the sum of sums counts them.
	binary.Write(&idat, binary.BigEndian, uint32(raw%65521)<<16|1)

	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk(&b, "IHDR", ihdr)
	chunk(&b, "IDAT", idat.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// zeros is n zero bytes as deflate blocks, ending byte-aligned and not
// final.
func zeros(n int64) []byte {
	const seg = 1 << 20
	block := make([]byte, seg)
	compress := func(prefix int64, n int64) []byte {
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.BestCompression)
		if prefix > 0 {
			fw.Write(block[:prefix])
			fw.Flush()
		}
		mark := b.Len()
		fw.Write(block[:n])
		fw.Flush()
		return b.Bytes()[mark:]
	}
	if n <= 2*seg {
		return compress(0, n)
	}
	// A megabyte after zeros compresses to the same blocks wherever it
	// falls, since its matches reach back into zeros only.
	out := bytes.NewBuffer(compress(0, seg))
	again := compress(seg, seg)
	for range n/seg - 1 {
		out.Write(again)
	}
	if tail := n % seg; tail > 0 {
		out.Write(compress(seg, tail))
	}
	return out.Bytes()
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	c := crc32.NewIEEE()
	c.Write([]byte(typ))
	c.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, c.Sum32())
}
