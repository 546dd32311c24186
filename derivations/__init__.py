"""Second derivations: each built-in oracle's answer computed a second, independent way.

`python -m evaluator.validate` runs the oracle and its derivation on the pinned checkout and fails
the task when the derivation's answer would not pass the task's comparator. To be independent,
no module here imports `oracles` (tests/test_architecture.py checks it), and each derivation uses
a different method: a real tool where one exists (`git ls-files`, `pytest --collect-only`,
`packaging.requirements`, `networkx`, `tomllib`, `configparser`, Pillow, ...) or a separate
implementation (regular expressions and text where the oracle walks an AST, an AST where the oracle
reads text, `inspect` on an import-free stub, ...).

Modules, by the oracles they cover:
  files.py             file-tree and text-search oracles (oracles/original, python_text grep_*,
                       repo_facts glob_files)
  images.py            image oracles (oracles/images): header bytes, Pillow's raw pixel bytes
  configs.py           config-file and answer-file oracles (config_files, pip_requirements,
                       repo_facts ini/yaml, markdown_tables, answer_checks)
  python_source.py     python_code and repo_facts oracles about definitions, registries, classes
  import_graph.py      python_code oracles about imports: import users and import cycles
  source_lines.py      (no derivations) the token-stream reader python_source and import_graph use
  python_semantics.py  python_code oracles about values: defaults, parameters, constants,
                       configs, docstrings, pytest parameters; it runs code through
    _pytokens.py       (finds definitions/statements/calls with the tokenizer),
    _stubrun.py        (child processes with a timeout and limits) and the child-side scripts
    _stub_worker.py    (executes snippets with every import and free name stubbed, the stubs
                       in _stub_values.py) and
    _pytest_stubbed.py (pytest with modules that cannot be imported stubbed); _pyvalues.py holds
                       the docstring reader, integer scanner, query walk and file selection
  cross_file.py        oracles/cross_file: call sites (tokenize), where a name is defined (regular
                       expressions over the text)
  cross_file_configs.py  oracles/cross_file_configs: config values after _base_ inheritance (a
                       separate evaluator and an iterative merge)
"""
