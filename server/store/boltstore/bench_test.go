package boltstore

import (
	"fmt"
	"testing"

	"github.com/tollgate-gw/tollgate/server/store"
)

// BenchmarkGet measures a single-key read transaction, the hot path of the
// admin API's Get methods.
func BenchmarkGet(b *testing.B) {
	s, _ := openTemp(b)
	const n = 1000
	keys := make([]string, n)
	value := make([]byte, 512) // Roughly the size of an encoded API resource.
	err := s.Update(b.Context(), func(tx store.Tx) error {
		for i := range keys {
			keys[i] = fmt.Sprintf("apis/%04d", i)
			if err := tx.Put("apis", keys[i], value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := keys[i%n]
		i++
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get("apis", key)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdatePut measures one durable single-record write transaction.
// It is dominated by fsync, so results mostly reflect the disk.
func BenchmarkUpdatePut(b *testing.B) {
	s, _ := openTemp(b)
	value := make([]byte, 512)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("apis/%08d", i)
		i++
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("apis", key, value) })
		if err != nil {
			b.Fatal(err)
		}
	}
}
