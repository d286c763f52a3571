package dev.outboxsaga.console.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * HTTP/1.1 written by hand over a socket, for what a normal client will not do: send half a request, connect from
 * another loopback address (127.0.0.2 is this host too), read the response's header bytes exactly as sent.
 */
final class RawHttp {

    /** A response as it came: the status, each header line, the body. */
    record Response(int status, List<String> headerLines, String body) {
        List<String> headers(String name) {
            String prefix = name.toLowerCase(java.util.Locale.ROOT) + ":";
            return headerLines.stream().filter(line -> line.toLowerCase(java.util.Locale.ROOT).startsWith(prefix))
                    .map(line -> line.substring(prefix.length()).strip()).toList();
        }
    }

    private RawHttp() {
    }

    /** A socket from {@code from} to the console, connected. */
    static Socket connect(URI console, String from) {
        try {
            Socket socket = new Socket();
            socket.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            socket.connect(new InetSocketAddress(console.getHost(), console.getPort()), 2_000);
            socket.setSoTimeout(30_000);
            return socket;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends {@code request} (with {@code Connection: close}) from {@code from} and reads the whole response. */
    static Response exchange(URI console, String from, String request) {
        try (Socket socket = connect(console, from)) {
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return read(socket.getInputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A GET of {@code path} with these extra header lines. */
    static String get(URI console, String path, String... headers) {
        return "GET " + path + " HTTP/1.1\r\nHost: " + console.getHost() + ":" + console.getPort() + "\r\n"
                + String.join("", java.util.Arrays.stream(headers).map(h -> h + "\r\n").toList())
                + "Connection: close\r\n\r\n";
    }

    /** A form POST of {@code body} (already encoded) with these extra header lines. */
    static String post(URI console, String path, String body, String... headers) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return "POST " + path + " HTTP/1.1\r\nHost: " + console.getHost() + ":" + console.getPort() + "\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + bytes.length + "\r\n"
                + String.join("", java.util.Arrays.stream(headers).map(h -> h + "\r\n").toList())
                + "Connection: close\r\n\r\n" + body;
    }

    private static Response read(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        String text = all.toString(StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        String head = end < 0 ? text : text.substring(0, end);
        List<String> lines = new ArrayList<>(List.of(head.split("\r\n", -1)));
        String statusLine = lines.remove(0);
        return new Response(Integer.parseInt(statusLine.split(" ")[1]), lines, end < 0 ? "" : text.substring(end + 4));
    }
}
