"""Where points are computed and moved: earn rules, the ledger's lots, rewards, codes."""
