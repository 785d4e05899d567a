package config

// Actions configures response actions: webhooks and the automatic-response policy (see
// internal/respond).
type Actions struct{}

// validate checks the actions.
func (a Actions) validate() error { return nil }
