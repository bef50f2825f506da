"""A tiny locustfile for the runner's own tests: loopback GETs against a static HTTP server."""

from locust import FastHttpUser, constant, task


class Reader(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def root(self) -> None:
        self.client.get("/", name="GET / [small]")
