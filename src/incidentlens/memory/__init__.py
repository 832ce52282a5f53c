"""Institutional memory: fingerprints of resolved incidents and the similarity search over them.

- `fingerprint`: what an incident looks like (normalised symptoms) and how it ended (cause, fix, owners)
- `observe`: the symptoms of one investigation
- `index`: the TF-IDF similarity index (`MemoryIndex.search`)
- `retrieve` / `prior`: "seen before" for the brief and the bounded confidence prior
- `indexing`: `index_incident(db, incident_id)`, `reindex_all(db)`, `load_index(db)` through `store/`
- `stats`: recurrence metrics

Importing this package loads nothing that touches a database; `indexing` and `stats` do, through `store/`.
"""
