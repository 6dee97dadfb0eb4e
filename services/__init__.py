"""Domain services: what people and the course flow do, on the app database and through the
one Prefect gateway. Entry points (CLI, dashboard) and Prefect tasks call these."""
