package io.pgha.api;

/** The status and plain-text message a write endpoint answers with. */
record Answer(int status, String message) {}
