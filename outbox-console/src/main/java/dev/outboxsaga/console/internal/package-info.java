/** The console's and CLI's internals: service queries, pages, sessions; not API. */
package dev.outboxsaga.console.internal;
