"""How the report looks: aggregation and statistics, REPORT.md (report.md.j2), and the charts."""
