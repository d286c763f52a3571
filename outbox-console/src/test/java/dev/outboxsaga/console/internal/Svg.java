package dev.outboxsaga.console.internal;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** An SVG the console drew, parsed as XML (so it must be well-formed), for the renderers' tests. */
final class Svg {

    private final Document document;

    private Svg(Document document) {
        this.document = document;
    }

    static Svg parse(String svg) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return new Svg(factory.newDocumentBuilder().parse(new InputSource(new StringReader(svg))));
        } catch (Exception e) {
            throw new AssertionError("not well-formed SVG: " + e.getMessage() + "\n" + svg, e);
        }
    }

    /** The elements an XPath expression selects. */
    List<Element> all(String xpath) {
        try {
            NodeList nodes = (NodeList) XPathFactory.newInstance().newXPath().evaluate(xpath, document,
                    XPathConstants.NODESET);
            List<Element> elements = new ArrayList<>();
            for (int i = 0; i < nodes.getLength(); i++) {
                elements.add((Element) nodes.item(i));
            }
            return elements;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Elements whose class attribute has every one of {@code classes}. */
    List<Element> withClasses(String element, String... classes) {
        StringBuilder xpath = new StringBuilder("//").append(element).append("[true()");
        for (String css : classes) {
            xpath.append(" and contains(concat(' ', normalize-space(@class), ' '), ' ").append(css).append(" ')");
        }
        return all(xpath.append(']').toString());
    }

    /** Every element's name in the document, for checking that no script or foreign element got in. */
    List<String> elementNames() {
        return all("//*").stream().map(Element::getTagName).toList();
    }

    static double number(Element element, String attribute) {
        return Double.parseDouble(element.getAttribute(attribute));
    }
}
