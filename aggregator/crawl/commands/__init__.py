"""The project's Scrapy commands (``COMMANDS_MODULE`` in the settings), each named by its
module and replacing Scrapy's command of that name:

``crawl``
    validates spider arguments before anything starts (``-a since=banana`` is a usage
    error, exit 2) and holds the source's crawl lock as ``aggregator crawl`` does (exit 75
    while another crawl of the source runs on the same database);
``shell``
    never stores nor records a crawl (``scrapy shell URL`` gets the outlet's spider);
``check``
    runs the outlets' contracts against the bundled fixture site, served on 127.0.0.1.

Modules here are imported by every ``scrapy`` command line: keep their imports light.
"""
