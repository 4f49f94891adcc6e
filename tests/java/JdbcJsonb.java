import java.sql.*;
import org.postgresql.util.PGobject;

/** What pgjdbc reads of json and jsonb columns and what it binds as jsonb: one line per
 *  value, for the differential test tests/test_jsonb.py (args: url). */
public class JdbcJsonb {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            String sql = "select jt.j, jt.k, jt.j -> 'aa' as x, '{\"b\": 1, \"a\": [1, 2.50]}'::jsonb "
                + "as c, jt.j as renamed, array[jt.j] as arr, v.vj from jt join jv v using (id) "
                + "order by id";
            for (boolean prepared : new boolean[] {false, true}) {
                ResultSet rs = prepared ? conn.prepareStatement(sql).executeQuery()
                    : conn.createStatement().executeQuery(sql);
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        Object value = rs.getObject(i);
                        String type = value instanceof PGobject ? ((PGobject) value).getType()
                            : value == null ? "null" : value.getClass().getSimpleName();
                        System.out.println("result " + prepared + " " + md.getColumnName(i) + " "
                            + md.getColumnTypeName(i) + " " + md.getColumnType(i) + " "
                            + type + " " + rs.getString(i));
                    }
                }
            }
            try (PreparedStatement ps = conn.prepareStatement("select ?::jsonb as p")) {
                PGobject value = new PGobject();
                value.setType("jsonb");
                value.setValue("{\"z\": 1, \"y\": [true, null]}");
                ps.setObject(1, value);
                ResultSet rs = ps.executeQuery();
                rs.next();
                System.out.println("param " + rs.getMetaData().getColumnTypeName(1) + " "
                    + rs.getString(1));
            }
        }
    }
}
