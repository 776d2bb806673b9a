"""The formats results are written in, one module per format (as networkx's readwrite/ keeps
one per file format): ``jsondoc`` a command's result as the JSON document ``--json`` prints,
``sarif`` findings located in C source (SARIF 2.1.0), and a counterexample's graph as
``graphml``, ``nodelink`` (node-link JSON) and ``dot``.  Text in kernel terms is
``modelcheck.output.report``, pictures ``modelcheck.output.picture``.  The command line renders
every result through these modules in one place (``modelcheck.cli._run``)."""
