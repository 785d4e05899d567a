// Package all has the side effect of registering every built-in source kind.
package all

import (
	_ "github.com/omen-tip/omen/internal/collect/attack"   // kind attack
	_ "github.com/omen-tip/omen/internal/collect/epss"     // kind epss
	_ "github.com/omen-tip/omen/internal/collect/kev"      // kind kev
	_ "github.com/omen-tip/omen/internal/collect/listfeed" // kind list
	_ "github.com/omen-tip/omen/internal/collect/misp"     // kind misp
	_ "github.com/omen-tip/omen/internal/collect/otx"      // kind otx
	_ "github.com/omen-tip/omen/internal/collect/taxii"    // kind taxii
)
