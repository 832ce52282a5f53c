"""Where telemetry comes from: files, and the backends teams already run (Prometheus, Loki, Tempo, ...).

Every source implements `Source.load(query, sink, progress) -> SourceReport` (`protocol.py`); kinds are
registered in `registry.py`; settings are parsed in `config.py`; live sources share `http.py`.
"""
