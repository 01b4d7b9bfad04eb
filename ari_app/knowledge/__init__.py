"""The knowledge base: the departments' answers (答复口径) agents search in Chinese, each version reviewed by a
supervisor before agents see it (workflow, vocabulary, terms, ranking, seed, store, search, desk, routes)."""
