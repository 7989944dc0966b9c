package feeds

import (
	"container/list"
	"time"
)

// docCache holds built archive documents and author and tag feeds, least
// recently used first out, within a byte budget (plain and gzip bytes of
// every document). It is not safe for concurrent use; Set guards it.
type docCache struct {
	budget, size int64
	order        *list.List               // front: most recently used
	byPath       map[string]*list.Element // → *cached
	byKey        map[string]map[string]*list.Element
}

type cached struct {
	res *resource
	// until is when the document may be stale without any article change
	// (the end of the day it was built on, for a document whose links or
	// items move when a period ends); zero: never.
	until time.Time
}

func newDocCache(budget int64) *docCache {
	return &docCache{budget: budget, order: list.New(), byPath: map[string]*list.Element{},
		byKey: map[string]map[string]*list.Element{}}
}

func (c *cached) bytes() int64 {
	return int64(cap(c.res.plain.body)+cap(c.res.gz.body)) + 1024 // headers and bookkeeping
}

// get returns the document at path, unless it expired at now.
func (c *docCache) get(path string, now time.Time) *resource {
	el := c.byPath[path]
	if el == nil {
		return nil
	}
	e := el.Value.(*cached)
	if !e.until.IsZero() && !now.Before(e.until) {
		c.remove(el)
		return nil
	}
	c.order.MoveToFront(el)
	return e.res
}

// add stores res (replacing what path held) and evicts the least recently
// used documents beyond the budget. A document larger than the whole
// budget is not kept.
func (c *docCache) add(res *resource, until time.Time) {
	if el := c.byPath[res.path]; el != nil {
		c.remove(el)
	}
	e := &cached{res: res, until: until}
	if e.bytes() > c.budget {
		return
	}
	el := c.order.PushFront(e)
	c.byPath[res.path] = el
	if c.byKey[res.key] == nil {
		c.byKey[res.key] = map[string]*list.Element{}
	}
	c.byKey[res.key][res.path] = el
	c.size += e.bytes()
	for c.size > c.budget {
		c.remove(c.order.Back())
	}
}

func (c *docCache) remove(el *list.Element) {
	e := c.order.Remove(el).(*cached)
	delete(c.byPath, e.res.path)
	if m := c.byKey[e.res.key]; m != nil {
		delete(m, e.res.path)
		if len(m) == 0 {
			delete(c.byKey, e.res.key)
		}
	}
	c.size -= e.bytes()
}

// dropKey removes the documents of feed key that t may change: every
// subscription feed of it, and every archive document whose span holds
// one of times. It reports how many it removed.
func (c *docCache) dropKey(key string, times []time.Time) int {
	n := 0
	for _, el := range c.byKey[key] {
		r := el.Value.(*cached).res
		hit := !r.archive
		for _, t := range times {
			hit = hit || (r.spanFrom.IsZero() || !t.Before(r.spanFrom)) && (r.spanTo.IsZero() || t.Before(r.spanTo))
		}
		if hit {
			c.remove(el)
			n++
		}
	}
	return n
}

// clear drops everything.
func (c *docCache) clear() {
	c.order.Init()
	clear(c.byPath)
	clear(c.byKey)
	c.size = 0
}

func (c *docCache) len() int { return c.order.Len() }
