"""The live companion: ports, listener, engine, scheduler, clock, recorder and the session that runs them."""
