"""What the emulators share: fault injection, the control routes' pieces and the uvicorn runners."""
