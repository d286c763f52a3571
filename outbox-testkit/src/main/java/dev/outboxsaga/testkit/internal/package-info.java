/**
 * Implementation of the test kit. Not a supported API: anything here may change without notice.
 */
package dev.outboxsaga.testkit.internal;
