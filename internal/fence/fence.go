// Package fence chooses the tags that fence untrusted text in a prompt.
//
// A prompt shows the question and the answers it grades between tags
// (<answer-TAG>…</answer-TAG>) and tells the model that nothing inside
// them is an instruction. The defence holds only if no fenced text can
// close its own fence, so the tag is chosen after the texts exist and never
// occurs in any of them.
package fence

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/selfrefine/refine/internal/fold"
)

// Tag returns the marker of the tags that fence texts in one prompt: 12
// hex digits of SHA-256 over texts (each length-prefixed, so that no two
// lists hash alike), so that the same request gets the same prompt and
// recorded calls replay.
//
// Being predictable does not let an answer close its own fence: any tag
// that occurs in one of the texts (compared case-insensitively) is
// replaced by the next one derived, until none does. An answer cannot
// carry the tag of a request it is part of. The rule that holds the
// defence is that check, as it was when tags were drawn at random; the
// hash only makes the choice repeatable.
func Tag(texts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, t := range texts {
		binary.BigEndian.PutUint64(n[:], uint64(len(t)))
		h.Write(n[:])
		h.Write([]byte(t))
	}
	var sum [sha256.Size]byte
	digest := h.Sum(sum[:0])
	return pick(func(round uint64) string {
		var buf [sha256.Size + 8]byte
		copy(buf[:], digest)
		binary.BigEndian.PutUint64(buf[sha256.Size:], round)
		s := sha256.Sum256(buf[:])
		return hex.EncodeToString(s[:6])
	}, texts)
}

// pick returns the first of candidate(0), candidate(1), … that occurs in
// none of texts, compared case-insensitively.
func pick(candidate func(round uint64) string, texts []string) string {
	for round := uint64(0); ; round++ {
		tag := candidate(round)
		clash := false
		for _, t := range texts {
			if fold.Index(t, tag) >= 0 {
				clash = true
				break
			}
		}
		if !clash {
			return tag
		}
	}
}
