package dev.outboxsaga.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class JsonTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "{}", "[]", "0", "-0.5e+10", "\"text\"", "true", "false", "null",
        " { \"a\" : [1, 2.5, -3E2, {\"b\": null}], \"c\": \"\\u00e9\\n\\\"\" } ",
        "{\"n\": 1, \"note\": \"x\"}"
    })
    void acceptsValidJson(String text) {
        assertThat(Json.syntaxError(text)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "01", "1.", "-", "+1", "tru", "nul",
        "'single'", "{a:1}", "\"unterminated", "\"bad \\x escape\"", "{} {}", "NaN", "\"tab\there\""
    })
    void refusesInvalidJsonWithAnOffset(String text) {
        assertThat(Json.syntaxError(text)).isNotNull().contains("at offset");
    }

    @Test
    void refusesNestingBeyondTheLimitInsteadOfOverflowingTheStack() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertThat(Json.syntaxError(deep)).contains("nesting deeper than");
    }

    @Test
    void parsesIntoMapsListsAndScalars() {
        Object parsed = Json.parse("{\"a\":[1,\"x\\u0041\",true,null],\"b\":{}}");
        Map<String, Object> expected = new LinkedHashMap<>();
        java.util.ArrayList<Object> list = new java.util.ArrayList<>();
        list.add(new BigDecimal("1"));
        list.add("xA");
        list.add(true);
        list.add(null);
        expected.put("a", list);
        expected.put("b", Map.of());
        assertThat(parsed).isEqualTo(expected);
        assertThatThrownBy(() -> Json.parse("[1,")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void writesObjectsThatParseBackToTheSameStrings() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("plain", "v");
        map.put("quote\"and\\slash", "line\nbreak\ttab\u0001control");
        assertThat(Json.parse(Json.writeObject(map))).isEqualTo(map);
        assertThat(Json.writeObject(Map.of())).isEqualTo("{}");
        assertThat(List.of()).isEmpty();
    }
}
