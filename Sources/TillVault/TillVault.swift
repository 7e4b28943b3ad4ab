// The card vault.
