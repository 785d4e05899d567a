package shardmap

import (
	"sync"
	"testing"
)

func TestMap(t *testing.T) {
	m := New[int, int](64, func(k int) uint64 { return uint64(k) })
	for i := range 1000 {
		m.Put(i, i*2)
		if v, ok := m.Get(i); !ok || v != i*2 {
			t.Fatalf("%d: %d %v right after Put", i, v, ok)
		}
	}
	n := 0
	for i := range 1000 {
		if _, ok := m.Get(i); ok {
			n++
		}
	}
	if n == 0 || n > 64 {
		t.Errorf("%d entries kept, want 1..64", n)
	}
	m.Put(5000, 1)
	m.Delete(5000)
	if _, ok := m.Get(5000); ok {
		t.Error("deleted key found")
	}
	m.Clear()
	for i := range 1000 {
		if _, ok := m.Get(i); ok {
			t.Fatalf("%d found after Clear", i)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				m.Put(i*4+g, i)
				m.Get(i)
			}
		})
	}
	wg.Wait()
}
