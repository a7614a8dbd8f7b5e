package ui

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboardhq/switchboard/internal/user"
)

// The notification sounds are made here, from code: short sine tones as
// 16-bit mono WAV files. SWITCHBOARD_UPDATE_SOUNDS=1 go test -run
// TestSounds ./internal/web/ui writes them to static/sounds; otherwise the
// test checks the committed files are what this code makes.

const soundRate = 16000

// note is a tone from start for length seconds, fading out.
type note struct {
	freq, start, length, volume float64
}

func tones(seconds float64, notes ...note) []int16 {
	out := make([]int16, int(seconds*soundRate))
	for _, n := range notes {
		from := int(n.start * soundRate)
		count := int(n.length * soundRate)
		for i := 0; i < count && from+i < len(out); i++ {
			t := float64(i) / soundRate
			attack := math.Min(1, t/0.005)       // no click at the start
			decay := math.Exp(-4 * t / n.length) // fades out
			v := math.Sin(2*math.Pi*n.freq*t) * n.volume * attack * decay
			out[from+i] += int16(v * 32767 * 0.6)
		}
	}
	return out
}

func wav(samples []int16) []byte {
	var b bytes.Buffer
	data := len(samples) * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1)) // PCM
	binary.Write(&b, binary.LittleEndian, uint16(1)) // mono
	binary.Write(&b, binary.LittleEndian, uint32(soundRate))
	binary.Write(&b, binary.LittleEndian, uint32(soundRate*2))
	binary.Write(&b, binary.LittleEndian, uint16(2))
	binary.Write(&b, binary.LittleEndian, uint16(16))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	binary.Write(&b, binary.LittleEndian, samples)
	return b.Bytes()
}

func soundFiles() map[string][]byte {
	return map[string][]byte{
		"chime": wav(tones(0.6, note{880, 0, 0.35, 0.8}, note{1318.5, 0.16, 0.44, 0.7})),
		"beep":  wav(tones(0.25, note{1000, 0, 0.22, 0.8})),
		"knock": wav(tones(0.4, note{190, 0, 0.12, 1}, note{190, 0.17, 0.12, 1})),
	}
}

func TestSounds(t *testing.T) {
	files := soundFiles()
	for _, name := range user.Sounds {
		want, ok := files[name]
		if !ok {
			t.Errorf("no sound is made for %q", name)
			continue
		}
		path := filepath.Join("static", "sounds", name+".wav")
		if os.Getenv("SWITCHBOARD_UPDATE_SOUNDS") == "1" {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what the code makes (%v): run SWITCHBOARD_UPDATE_SOUNDS=1 go test -run TestSounds ./internal/web/ui", path, err)
		}
	}
}
