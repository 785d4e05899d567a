package sqlite

import (
	"context"
	"errors"

	"github.com/omen-tip/omen/internal/store"
)

var errSTIXTodo = errors.New("sqlite: STIX object store not implemented yet")

// PutSTIXObjects implements [store.STIXStore].
func (db *DB) PutSTIXObjects(ctx context.Context, objs []store.STIXObject) (int, error) {
	return 0, errSTIXTodo
}

// STIXObjects implements [store.STIXStore].
func (db *DB) STIXObjects(ctx context.Context, q store.STIXQuery) (store.STIXPage, error) {
	return store.STIXPage{}, errSTIXTodo
}

// DeleteSTIXObject implements [store.STIXStore].
func (db *DB) DeleteSTIXObject(ctx context.Context, coll, id string, q store.STIXQuery) (int, error) {
	return 0, errSTIXTodo
}

// PutTAXIIStatus implements [store.STIXStore].
func (db *DB) PutTAXIIStatus(ctx context.Context, id string, status []byte) error {
	return errSTIXTodo
}

// TAXIIStatus implements [store.STIXStore].
func (db *DB) TAXIIStatus(ctx context.Context, id string) ([]byte, error) {
	return nil, errSTIXTodo
}
