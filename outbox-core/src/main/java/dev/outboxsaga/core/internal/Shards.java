package dev.outboxsaga.core.internal;

import java.nio.charset.StandardCharsets;

/**
 * The stable hash that picks an outbox shard for an aggregate id: Kafka's murmur2 over the id's UTF-8
 * bytes, made non-negative, modulo the shard count. It is the hash of Kafka's default partitioner, so it
 * can be computed the same way in any language and never changes between releases or JVMs (unlike
 * {@link String#hashCode()}, which is stable too but specific to Java).
 */
public final class Shards {

    private Shards() {
    }

    /** The shard, in {@code [0, count)}, of {@code aggregateId}. */
    public static int of(String aggregateId, int count) {
        if (count == 1) {
            return 0;
        }
        return (murmur2(aggregateId.getBytes(StandardCharsets.UTF_8)) & 0x7fffffff) % count;
    }

    /** Kafka's {@code Utils.murmur2} (MurmurHash2, seed 0x9747b28c), bit for bit. */
    static int murmur2(byte[] data) {
        int length = data.length;
        final int m = 0x5bd1e995;
        final int r = 24;
        int h = 0x9747b28c ^ length;
        int length4 = length / 4;
        for (int i = 0; i < length4; i++) {
            int i4 = i * 4;
            int k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16)
                    + ((data[i4 + 3] & 0xff) << 24);
            k *= m;
            k ^= k >>> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        int tail = length & ~3;
        switch (length % 4) {
            case 3:
                h ^= (data[tail + 2] & 0xff) << 16;
                // fall through
            case 2:
                h ^= (data[tail + 1] & 0xff) << 8;
                // fall through
            case 1:
                h ^= data[tail] & 0xff;
                h *= m;
                break;
            default:
                break;
        }
        h ^= h >>> 13;
        h *= m;
        h ^= h >>> 15;
        return h;
    }
}
