package taxii

import (
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

// ObjectMeta reads the fields of a [store.STIXObject] from one STIX object: see [stix.ObjectMeta].
func ObjectMeta(raw []byte) (store.STIXObject, error) { return stix.ObjectMeta(raw) }

// TLPMarking returns the TLP level of a TLP marking definition id: see [stix.TLPMarking].
func TLPMarking(id string) (intel.TLP, bool) { return stix.TLPMarking(id) }
