package subscribers

// LegacyUnsubscribeToken makes an unsubscribe token of the old format (as
// in digests mailed before the opaque tokens), for tests that check such
// links still work.
func (s *Signer) LegacyUnsubscribeToken(id int64, email, list string) string {
	t, err := s.sign(purposeUnsub, legacyUnsub{ID: id, Email: email, List: list})
	if err != nil {
		panic(err)
	}
	return t
}
