package jobs

import (
	"bytes"
	"testing"
)

// FuzzParseOffer: the offer parser never panics, and whatever it accepts is canonical: encoding
// it gives the input back byte for byte, and its job id is computable.
func FuzzParseOffer(f *testing.F) {
	v := loadOfferVectors(f)
	for _, c := range v.Valid {
		f.Add([]byte(c.Offer))
	}
	for _, c := range v.Invalid {
		f.Add([]byte(c.Offer))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":"probity.offer.v1","request":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOffer(b)
		if err != nil {
			return
		}
		enc, err := o.Encode()
		if err != nil {
			t.Fatalf("accepted offer does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("parse then encode changed the document:\n%s\n%s", b, enc)
		}
		if _, err := o.JobID(); err != nil {
			t.Fatalf("accepted offer has no job id: %v", err)
		}
	})
}

// FuzzParseRequest: the same for the request alone, as other documents embed it.
func FuzzParseRequest(f *testing.F) {
	o, err := ParseOffer([]byte(loadOfferVectors(f).Valid[0].Offer))
	if err != nil {
		f.Fatal(err)
	}
	b, _ := AppendRequest(nil, o.Request)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseRequest(b)
		if err != nil {
			return
		}
		enc, err := AppendRequest(nil, q)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("parse then encode changed the request (%v):\n%s\n%s", err, b, enc)
		}
	})
}
