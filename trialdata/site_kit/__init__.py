"""What a site needs to prepare an upload: the data dictionary and upload templates.

:mod:`~trialdata.site_kit.dictionary` builds the data dictionary as data from the
domain schemas, the protocol and the validation rules;
:mod:`~trialdata.site_kit.dictionary_writers` writes it as HTML, XLSX, CSV or JSON;
:mod:`~trialdata.site_kit.template` writes empty upload workbooks, one per domain, as
``trialdata validate`` reads them. The command line is ``trialdata dictionary`` and
``trialdata template`` (:mod:`trialdata.cli.site_files`).

Importing this package imports none of its modules: each is imported by what uses
it, so that the command line starts fast.
"""
