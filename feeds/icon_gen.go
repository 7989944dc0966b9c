//go:build ignore

// icon_gen draws syndicated's default feed icon (a white feed mark on a
// rounded teal square, an original drawing) and writes icon.png (512×512)
// and favicon.ico (16, 32 and 64 px PNG images in an ICO container).
//
//	go generate ./feeds
package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

var (
	teal  = color.NRGBA{0x0b, 0x6e, 0x75, 0xff}
	white = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

// shade says what covers the point (u, v) of the unit square, y down:
// 0 nothing, 1 the background, 2 the mark.
func shade(u, v float64) int {
	// Rounded square, corner radius 0.18.
	const r = 0.18
	cx, cy := math.Max(math.Abs(u-0.5)-(0.5-r), 0), math.Max(math.Abs(v-0.5)-(0.5-r), 0)
	if cx*cx+cy*cy > r*r {
		return 0
	}
	ox, oy := 0.29, 0.71 // the mark's origin, lower left
	dx, dy := u-ox, oy-v
	if math.Hypot(dx, dy) <= 0.085 {
		return 2 // the dot
	}
	// Two quarter rings up and to the right of the dot, with round ends.
	ring := func(a, b float64) bool {
		if dx >= 0 && dy >= 0 {
			d := math.Hypot(dx, dy)
			return d >= a && d <= b
		}
		mid, hw := (a+b)/2, (b-a)/2
		return math.Hypot(dx-mid, dy) <= hw || math.Hypot(dx, dy-mid) <= hw
	}
	if ring(0.22, 0.32) || ring(0.40, 0.50) {
		return 2
	}
	return 1
}

// draw renders the icon at size px, 4×4 samples a pixel.
func draw(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var bg, mark int
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					u := (float64(x) + (float64(sx)+0.5)/ss) / float64(size)
					v := (float64(y) + (float64(sy)+0.5)/ss) / float64(size)
					switch shade(u, v) {
					case 1:
						bg++
					case 2:
						mark++
					}
				}
			}
			n := bg + mark
			if n == 0 {
				continue
			}
			f := float64(mark) / float64(n)
			mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*(1-f) + float64(b)*f)) }
			img.SetNRGBA(x, y, color.NRGBA{mix(teal.R, white.R), mix(teal.G, white.G), mix(teal.B, white.B),
				uint8(math.Round(255 * float64(n) / (ss * ss)))})
		}
	}
	return img
}

func encode(img image.Image) []byte {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

func main() {
	if err := os.WriteFile("icon.png", encode(draw(512)), 0o644); err != nil {
		log.Fatal(err)
	}
	sizes := []int{16, 32, 64}
	var pngs [][]byte
	for _, s := range sizes {
		pngs = append(pngs, encode(draw(s)))
	}
	var ico bytes.Buffer
	le := func(v any) { _ = binary.Write(&ico, binary.LittleEndian, v) }
	le(uint16(0))          // reserved
	le(uint16(1))          // type: icon
	le(uint16(len(sizes))) // image count
	offset := 6 + 16*len(sizes)
	for i, s := range sizes {
		ico.WriteByte(byte(s)) // width (0 would mean 256)
		ico.WriteByte(byte(s)) // height
		ico.WriteByte(0)       // palette size
		ico.WriteByte(0)       // reserved
		le(uint16(1))          // colour planes
		le(uint16(32))         // bits per pixel
		le(uint32(len(pngs[i])))
		le(uint32(offset))
		offset += len(pngs[i])
	}
	for _, p := range pngs {
		ico.Write(p)
	}
	if err := os.WriteFile("favicon.ico", ico.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
