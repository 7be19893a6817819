"""The provider-agnostic sync engine: fetch → match → validate → write, with a SyncRun for every attempt."""
