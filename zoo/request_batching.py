"""Request batching: a signature's predict requests that queue up while it runs go together into its next call."""

import asyncio

import numpy as np

from zoo.request_parsing import RequestError
from zoo.servables import call_signature


class Batcher:
    """Runs a signature's requests on the server's TensorFlow thread pool, one call at a time per signature; requests
    that queue up while a call runs go together into the next call (their rows concatenated, the outputs split
    back), so that concurrent clients share one larger matmul. A batch whose call fails is retried request by
    request, so that each request gets its own answer. The queue and its worker belong to the event loop serving
    the request: another loop (a test client's, a restarted server's) gets its own."""

    def __init__(self, signature, executor, max_rows):
        self.signature, self.executor, self.max_rows = signature, executor, max_rows
        self.loop = self.queue = self.worker = None

    async def __call__(self, inputs):
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.worker.done():
            self.loop, self.queue = loop, asyncio.Queue()
            self.worker = loop.create_task(self.work(self.queue))
        future = loop.create_future()
        await self.queue.put((inputs, future))
        return await future

    @staticmethod
    def rows(inputs):
        counts = {len(value) for value in inputs.values()}
        return counts.pop() if len(counts) == 1 else None

    @staticmethod
    def row_shapes(inputs):
        """{input name: the shape of one row}: requests join a batch only if theirs are alike (a signature taking
        images of any size takes each request's at its own size)."""
        return {name: np.shape(value)[1:] for name, value in inputs.items()}

    async def work(self, queue):
        loop = asyncio.get_running_loop()
        held = None  # a request taken from the queue that did not fit the last batch: it starts the next
        while True:
            batch, held = [held or await queue.get()], None
            rows, shapes = self.rows(batch[0][0]), self.row_shapes(batch[0][0])
            while rows is not None and not queue.empty():
                request = queue.get_nowait()
                more = self.rows(request[0])
                if more is None or rows + more > self.max_rows or self.row_shapes(request[0]) != shapes:
                    held = request
                    break
                batch.append(request)
                rows += more
            await loop.run_in_executor(self.executor, self.run, batch)

    def run(self, batch):
        if len(batch) > 1:
            joined = {name: np.concatenate([inputs[name] for inputs, _ in batch]) for name in self.signature.inputs}
            try:
                outputs = call_signature(self.signature, joined)
            except RequestError:
                outputs = None  # some request in the batch is bad: answer each alone
            if outputs is not None:
                start = 0
                for inputs, future in batch:
                    stop = start + self.rows(inputs)
                    result = {name: value[start:stop] for name, value in outputs.items()}
                    future.get_loop().call_soon_threadsafe(future.set_result, result)
                    start = stop
                return
        for inputs, future in batch:
            try:
                result = call_signature(self.signature, inputs)
            except Exception as error:  # handed to the request that caused it
                future.get_loop().call_soon_threadsafe(future.set_exception, error)
            else:
                future.get_loop().call_soon_threadsafe(future.set_result, result)
